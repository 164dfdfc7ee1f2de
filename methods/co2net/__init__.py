"""CO2-Net (Hong et al., ACM MM 2021), the official code: model (``CO2``, ``ANT_CO2``), loss
terms (``co2`` and ``co2_<part>``) and constants (``settings.py``). Not a registered method yet:
the localizer, the W-TALC evaluation wiring and the training integration come later."""
