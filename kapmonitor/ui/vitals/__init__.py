"""The nurse's vital-sign display: numeric tiles, the trend plot, the pleth strip."""
