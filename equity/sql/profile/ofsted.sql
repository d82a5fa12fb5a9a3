-- Dated Ofsted inspections (overall effectiveness grade) for a list of URNs.
select urn, inspection_date, grade, grade_label, source_file
from ofsted_inspection
where list_contains($urns, urn)
order by inspection_date desc, urn
