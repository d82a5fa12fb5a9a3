-- A statistical-neighbour list: the first row whose area_code is not a GSS code like E08000009.
select _row, area_code from {table} where not regexp_full_match(trim(area_code), 'E\d{8}')
order by _row limit 1
