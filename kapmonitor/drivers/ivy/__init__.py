"""Ivy Biomedical 450C monitor over its serial "ANSAR-B" stream."""
