-- SMC's LA file: indicator codes we do not map (their rows are skipped). Parameter: $codes, the codes we map.
select distinct Ind_code from {table} where Ind_code not in (select unnest($codes))
