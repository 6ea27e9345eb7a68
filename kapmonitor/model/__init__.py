"""Qt-free data model: parameters, samples, clocks, ring buffers."""
