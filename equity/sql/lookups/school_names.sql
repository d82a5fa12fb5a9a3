-- The names of those of a list of URNs that are schools in the database (any phase, open or closed).
select urn, name from school where list_contains($urns, urn) order by urn
