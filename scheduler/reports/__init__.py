"""Reports for clinic managers (SPEC §11): how the pathway flows at a site over a range of
days, from the events and appointments the service already keeps (no second bookkeeping).
"""
