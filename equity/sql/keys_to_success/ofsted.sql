-- Each school's latest Ofsted grade on or before $as_of. A school that converted to an academy
-- (new URN) takes its predecessor's grade until it has been inspected itself ('inherited').
-- On a day with both (the school's own inspection and its predecessor's, as GIAS records some
-- conversions), the school's own grade counts; between two predecessors inspected the same day, the
-- weaker grade. The order is total, so every run returns the same row.
with own as (
    select urn, grade, inspection_date from ofsted_inspection
    where inspection_date <= $as_of and grade between 1 and 4),
cand as (
    select urn, grade, inspection_date, false as inherited from own
    union all
    select l.urn, o.grade, o.inspection_date, true as inherited
    from school_lineage l join own o on o.urn = l.related_urn
    where l.relation = 'predecessor')
select urn, grade, inspection_date, inherited
from cand
qualify row_number() over (partition by urn order by inspection_date desc, inherited, grade desc) = 1
