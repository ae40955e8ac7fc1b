"""Fairline sponsorship: packages per tier, category exclusivity, ad slots, creatives, delivery."""
