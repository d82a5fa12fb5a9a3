-- When the database was built (the build step records it).
select started, seconds, outcome from build_info order by started desc limit 1
