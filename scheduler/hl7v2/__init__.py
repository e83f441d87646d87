"""HL7 v2.5.1 SIU messages to the EHR over MLLP (SPEC §8)."""
