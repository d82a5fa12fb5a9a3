-- School results that are not a number, counted per status (check "values missing by reason").
select status, count(*) n from school_result_all where status <> 'ok' group by 1 order by 2 desc
