-- URNs linked to $urn by predecessor/successor links (academy conversions, mergers), up to four
-- steps away, nearest first, with the key stages and years each one has context data for.
with recursive walk(urn, depth, path) as (
    select cast($urn as integer), 0, [cast($urn as integer)]
    union all
    select l.related_urn, w.depth + 1, list_append(w.path, l.related_urn)
    from walk w join school_lineage l on l.urn = w.urn
    where w.depth < 4 and l.relation in ('successor', 'predecessor') and not list_contains(w.path, l.related_urn))
select w.urn, min(w.depth) as depth,
       exists (select 1 from school_context c where c.urn = w.urn and c.key_stage = $key_stage
               and c.start_year = $start_year) as has_context
from walk w group by w.urn order by depth, urn
