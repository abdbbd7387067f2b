"""SMS gateways: text encoding and segments, the SMPP 3.4 codec and client, Kannel mapping."""
