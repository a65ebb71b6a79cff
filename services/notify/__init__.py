"""The notify service: telling learners about the programmes that fit them."""
