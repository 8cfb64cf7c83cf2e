"""×4 single-image super-resolution for ganforge: SRResNet and SRGAN (Ledig et al., CVPR 2017).

Models (``gan list models``): ``srresnet`` (the generator trained with pixel MSE; the plugin's
default) and ``srgan`` (the same generator, initialised from an SRResNet run, trained against a
discriminator with a pixel-MSE or VGG54 content loss). Datasets: the embedded ``sr-textures`` and
``sr-folder`` (any folder of HR photos). ``gan translate`` upscales image files ×4 (tiled, any
size); ``gan eval`` reports Y-channel PSNR/SSIM of the model and of bicubic interpolation.
"""

__all__: list[str] = []
