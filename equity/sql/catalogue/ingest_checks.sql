select name as "check", status, count, message, file from ingest_check
order by case status when 'fail' then 0 when 'warning' then 1 else 2 end, name
