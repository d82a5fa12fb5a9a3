-- Ofsted management information: the first row whose URN is neither blank, 'NULL' nor a number.
select _row, URN from stg_ofsted_mi_raw where nullif(nullif(trim(URN), ''), 'NULL') is not null
and try_cast(trim(URN) as integer) is null order by _row limit 1
