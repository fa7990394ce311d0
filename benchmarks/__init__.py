"""Speed and memory of the whole chain at demo and county scale (``python -m benchmarks``)."""
