"""The Learning Trail services and the chassis they share."""
