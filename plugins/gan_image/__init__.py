"""ganforge image GANs: GAN, DCGAN, cGAN, AC-GAN, InfoGAN, WGAN, WGAN-GP, LSGAN, EBGAN, LAPGAN.

Datasets: ``digits`` (embedded, procedurally drawn, needs no files), ``mnist``, ``fashion-mnist``,
``cifar10`` (local files, never downloaded) and ``folder`` (any folder of images). Evaluation
reports FID, KID, Inception Score and 1-NN accuracy on the features of a classifier trained on the
real data (cached), or of Inception-v3 from a local weights file (``--set eval.inception=PATH``).
"""
