-- An LA's name (DfE 3-digit code), from the LA table, else from the schools in it.
select $la as la_code,
       coalesce((select min(la_name) from la where la_code = $la),
                (select min(la_name) from school where la_code = $la)) as la_name
