"""The HTML pages the service serves (density, coverage), built from the services ' data."""
