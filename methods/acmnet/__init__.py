"""ACM-Net (Qu et al., 2021), the backbone FTCL builds on: its named output, loss (registered as
the ``acm`` term), localizer and video-accuracy rule. The network itself, with FTCL's candidate
heads, is ``methods/ftcl/model.py``; ``methods/ftcl`` registers the method that trains both."""
