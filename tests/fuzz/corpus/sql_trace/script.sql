-- c
SELECT 'a;b' FROM t;
/* x */ SELECT $$c;d$$ FROM v; ;
