"""paperbot: new research papers, summarized and searchable, where teams already talk."""

import os

# One BLAS thread unless the operator says otherwise, set before anything imports numpy. The
# vector work (projection fits, similarity) runs in worker threads beside the event loop; a BLAS
# pool of its own spun on every core, doubling its CPU on two cores, and its shutdown at exit
# could hang while a daemon fit thread was still inside a BLAS call (seen in the e2e runs).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
