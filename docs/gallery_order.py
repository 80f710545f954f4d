"""The order of the gallery: a newcomer's path, from the quick start on.

sphinx-gallery sorts the examples of a folder with the key named by
``within_subsection_order`` in ``conf.py``; this one puts the files of
:data:`ORDER` first, in that order, and any other example after them, by
file name.
"""

import os

#: The examples in reading order: the quick start, the optimizers racing on
#: a linear model and on a network, the choice of model, the learning rate,
#: then the searches.
ORDER = [
    "plot_quickstart.py",
    "plot_compare_optimizers.py",
    "plot_compare_optimizers_mlp.py",
    "plot_mlp_optimizers.py",
    "plot_linear_vs_mlp.py",
    "plot_lr_range_test.py",
    "plot_sparse_text.py",
    "plot_grid_search.py",
    "plot_random_search.py",
    "plot_halving_search.py",
    "plot_bayes_search.py",
]


class GalleryOrder:
    """Sort key of sphinx-gallery's ``within_subsection_order``.

    Parameters
    ----------
    src_dir : str
        The folder of the examples (sphinx-gallery passes it).
    """

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = os.path.basename(filename)
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)

    def __repr__(self):
        return "GalleryOrder"
