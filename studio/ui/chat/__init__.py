"""The Chat panel: talk to the open flow, one run per turn (see controller.py)."""
