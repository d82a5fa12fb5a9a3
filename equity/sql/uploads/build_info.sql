-- What the database the app reads was built from (one row; older builds have no sources column).
select * from build_info limit 1
