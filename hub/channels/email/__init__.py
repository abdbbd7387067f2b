"""E-mail: IMAP capture of every letter and SMTP sending."""
