-- Find schools by name, URN or postcode.
select urn, name, la_code, la_name, postcode, phase, is_mainstream, is_state_funded
from school
where name ilike '%' || $q || '%' or cast(urn as varchar) = trim($q)
   or replace(upper(postcode), ' ', '') like '%' || replace(upper($q), ' ', '') || '%'
order by case when cast(urn as varchar) = trim($q) then 0 else 1 end, is_mainstream desc, name, urn
limit $limit
