-- Successor URNs (academy conversions, mergers): a school's results continue under a new URN.
-- One row per (urn, successor_urn), with the date of the link where known.
select urn, related_urn as successor_urn, link_date
from school_lineage
where relation = 'successor' and related_urn <> urn
