-- Mainstream schools with results but no coordinates (check "mainstream schools with results but
-- no location").
select count(distinct r.urn) n from school_result r join school s using (urn)
where s.lat is null and s.is_mainstream
