"""An example third-party ganforge plugin.

Registers the ``hinge-mlp`` model (a hinge-loss MLP GAN with a spectrally normalised
discriminator), the ``two-moons``, ``spiral`` and ``csv-points`` point-cloud datasets, the
``knn-precision-recall`` metric and the ``gan example-preview`` command. Once installed it is found
through the ``ganforge.plugins`` entry point named ``example``; nothing in ganforge names it.
"""

__version__ = "0.2.0"
