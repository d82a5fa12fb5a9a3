-- URNs with results but no name in any school list (check "result URNs with a school record").
select count(distinct r.urn) n from school_result r
left join school s using (urn) where s.name is null
