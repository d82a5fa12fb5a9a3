-- Names, LA and phase of a list of schools.
select urn, name, la_code, la_name, phase, postcode from school where list_contains($urns, urn) order by urn
