"""CO2-Net (Hong et al., ACM MM 2021), the official code: model (``CO2``, ``ANT_CO2``), loss
terms (``co2`` and ``co2_<part>``), localizer (``localize.py``) and constants (``settings.py``).
Not a registered method yet: the training integration (iterations of class-pair batches, a
full-length test sampler, the W-TALC protocol by default) comes later (docs/methods/co2net.md)."""
