"""STCL-Net (TPAMI 2023) on the W-TALC line: ``STCL_THU``'s network (``model.py``) and loss terms
(``loss.py``, registered as ``stcl_*`` when imported). Not yet a ``--method``: no record is
registered here (see the module docstrings for what is left)."""
