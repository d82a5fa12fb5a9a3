-- Schools linked to $urn by GIAS predecessor/successor links (academy conversions, mergers), followed
-- up to three steps in the same direction. depth 1 = a direct link.
with recursive chain(urn, related_urn, relation, link_type, link_date, depth) as (
    select urn, related_urn, relation, link_type, link_date, 1
    from school_lineage where urn = $urn
    union
    select c.urn, l.related_urn, c.relation, l.link_type, l.link_date, c.depth + 1
    from chain c join school_lineage l on l.urn = c.related_urn and l.relation = c.relation
    where c.depth < 3 and l.related_urn <> $urn
)
select c.related_urn, c.relation, min(c.link_type) as link_type, min(c.link_date) as link_date,
       min(c.depth) as depth, min(s.name) as name, min(s.la_code) as la_code,
       min(s.open_date) as open_date, min(s.close_date) as close_date
from chain c left join school s on s.urn = c.related_urn
group by c.related_urn, c.relation
order by min(c.depth), c.relation, c.related_urn
