"""Image-to-image translation for ganforge: pix2pix, CycleGAN and StarGAN.

Models (``gan list models``): ``pix2pix`` (paired), ``cyclegan`` (unpaired), ``stargan``
(multi-domain). Datasets: the embedded ``outline2fill``, ``day2night`` and ``shape-attributes``
tasks, and the on-disk layouts ``aligned`` (pix2pix A|B), ``unaligned`` (CycleGAN trainA/trainB),
``celeba`` and ``domain-folders``. The ``gan translate`` command applies a trained model to a folder
of images.
"""

__all__: list[str] = []
