"""Campaigns: segments of contacts (filter language and its SQL), recipient snapshots, the
sending engine (`engine`), the rules of a campaign's life (`manager`) and the runner that
sends running campaigns inside `touchhub serve` (`runner`)."""
