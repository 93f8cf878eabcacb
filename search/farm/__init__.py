"""Farming trials out: the driver that proposes and queues them, and the workers that run them."""
