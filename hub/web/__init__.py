"""The aiohttp app: REST API under /api/v1, inbound webhooks and the dashboard.

`create_app` (in `hub.web.app`) builds it; typed app state lives in `hub.web.keys`.
"""
