"""The demo: reports and planning data put in through the services' public API."""
