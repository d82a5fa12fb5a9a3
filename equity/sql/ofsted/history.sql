-- Every dated Ofsted judgement (graded and ungraded, every framework) filed under the given URNs or
-- inspecting them, newest first. A predecessor's inspection reached both through the bundled history
-- and the management information is listed once (the management information's row, which is richer).
select urn, inspected_urn, inspection_date, publication_date, framework, graded, grade, equivalent, below_good,
       summary, category_of_concern, safeguarding, source, source_file
from ofsted_judgement
where list_contains($urns, urn) or list_contains($urns, inspected_urn)
qualify row_number() over (partition by inspected_urn, inspection_date, graded
                           order by source = 'management information' desc, urn) = 1
order by inspection_date desc, inspected_urn
