-- LA names and DfE regions by three-digit code.
select la_code, min(la_name) as la_name, min(region_name) as region_name from la
where la_code is not null group by la_code
