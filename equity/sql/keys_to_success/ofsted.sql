-- Each school's latest Ofsted grade on or before $as_of. A school that converted to an academy
-- (new URN) takes its predecessor's grade until it has been inspected itself ('inherited').
with own as (
    select urn, grade, inspection_date from ofsted_inspection
    where inspection_date <= $as_of and grade between 1 and 4),
cand as (
    select urn, grade, inspection_date, false as inherited from own
    union all
    select l.urn, o.grade, o.inspection_date, true as inherited
    from school_lineage l join own o on o.urn = l.related_urn
    where l.relation = 'predecessor')
select urn, arg_max(grade, inspection_date) as grade, max(inspection_date) as inspection_date,
       arg_max(inherited, inspection_date) as inherited
from cand group by urn
