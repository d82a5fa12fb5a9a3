-- Each school's latest graded Ofsted judgement on or before $as_of (NULL: every judgement held), with
-- how many consecutive graded inspections up to it were below good (or equivalent; see
-- marts_ofsted_b_judgements.sql) and the graded inspection before it. A school that converted to an
-- academy (new URN) counts its predecessor's inspections ('inherited') as Ofsted does. Ungraded
-- inspections neither make nor break a run. Two judgements on one day count once: the school's own
-- before its predecessor's, then the weaker; the order is total, so every run returns the same rows.
with own as (
    select * from ofsted_judgement
    where graded and (cast($as_of as date) is null or inspection_date <= cast($as_of as date))),
cand as (
    select o.urn, o.inspected_urn, o.inspection_date, o.framework, o.grade, o.equivalent, o.below_good, o.summary,
           o.source, o.inspected_urn <> o.urn as inherited
    from own o
    union all
    select l.urn, o.inspected_urn, o.inspection_date, o.framework, o.grade, o.equivalent, o.below_good, o.summary,
           o.source, true
    from school_lineage l join own o on o.urn = l.related_urn
    where l.relation = 'predecessor'),
one_each as (  -- one inspection reached by two routes (the history and the management information)
    select * from cand
    qualify row_number() over (partition by urn, inspected_urn, inspection_date
                               order by source = 'management information' desc, inherited) = 1),
per_day as (
    select * from one_each
    qualify row_number() over (partition by urn, inspection_date
                               order by inherited, equivalent desc, inspected_urn) = 1),
seq as (
    select *, row_number() over (partition by urn order by inspection_date desc) as n from per_day),
runs as (
    select urn, coalesce(min(n) filter (where not below_good) - 1, count(*)) as below_good_run,
           count(*) as graded_held
    from seq group by urn)
select s.urn, s.inspected_urn, s.inspection_date, s.framework, s.grade, s.equivalent, s.below_good, s.summary,
       s.inherited, r.below_good_run, r.graded_held,
       p.inspection_date as previous_date, p.framework as previous_framework, p.summary as previous_summary,
       p.below_good as previous_below_good
from seq s join runs r using (urn)
left join seq p on p.urn = s.urn and p.n = 2
where s.n = 1
order by s.urn
