"""Reactions to other services' events that issue this service's commands."""
