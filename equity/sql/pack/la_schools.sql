-- Schools of an LA with any performance-table or statistics-file result (not only the
-- all-England headline extract), with the key stages they have results for.
select r.urn, min(s.name) as name, min(s.phase) as phase,
       list_sort(list_distinct(list(r.key_stage))) as key_stages
from school_result r
left join school s on s.urn = r.urn
where r.la_code = $la and r.kind <> 'headline'
group by r.urn
order by r.urn
