"""Contact service: contact-frequency control, the contact ledger and next-best-offer."""
